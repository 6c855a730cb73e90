"""The local stack: RMA's deployment as real processes on one machine, without Docker.

``rma stack up`` starts vLLM (on the CPU, from its own Python environment), the Chroma
server and the three services, wired by the same environment variables as the Compose
file; ``rma stack status`` reports each one; ``rma stack down`` stops them. Process IDs,
logs and data live under a state folder, so the stack outlives the command that
started it.
"""
