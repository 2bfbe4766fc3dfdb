"""The definition: YAML runbooks loaded into a typed model, validated, and planned.

Never imports textual: the engine, the journal and tests use it without a terminal.
"""
