"""The order pages and the orders' JSON API: the list, one order, its actions, acceptance, shipping and closing."""
