"""Demo mode: a world on the sandboxes (`world`), a few weeks of history behind it (`history`), and a
steady flow of orders moving through it (`flow`). Only `waybill demo` uses it; nothing else imports it."""
