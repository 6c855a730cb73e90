"""What the three HTTP services share: the app factory, logging, errors, dependencies."""
