"""The Controller server: signed items, orders, and the links to its Agents."""
