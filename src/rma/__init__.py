"""RMA: a self-hosted assistant for UK debt-advice teams."""

__version__ = "0.1.0"
