"""The face of warroom: a Textual console that draws the engine's state and sends it commands.

Nothing here changes an incident directly; every keystroke becomes an OperatorCommand the
engine checks and journals, so the console, a shell and a replay can never disagree.
"""
