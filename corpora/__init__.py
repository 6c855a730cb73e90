"""Test corpora written for the project: realistic printouts with answer keys."""
