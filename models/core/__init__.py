"""The shared vocabulary every area speaks: who acted (`actors`), the merchant's clock and settings,
money, the audit trail's rows, quoting text back to people, search terms, web links from elsewhere, the
bounds of input (`bounds`), and the domain's errors.

Imports only the database platform (`models.db`, for the settings row); every area may import it.
"""
