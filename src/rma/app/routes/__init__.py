"""The adviser app's JSON API, one module per resource."""
