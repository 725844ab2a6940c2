"""Use cases. Each opens one unit of work, asks the domain, and commits once."""
