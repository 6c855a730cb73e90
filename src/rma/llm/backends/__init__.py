"""One module per model backend. Each maps its API onto :class:`Backend`."""
