"""Notes to client letter: case notes in, a checked Confirmation of Advice letter out."""
