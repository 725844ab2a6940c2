"""The HTTP API v1: parse, authenticate, call a use case, render. No decisions here."""
