"""The migration engine: plain Python over the neutral records and a MappingPlan, no Django, no vendor JSON.

A run moves through PHASES; `Engine.step()` does one bounded slice of the current phase and hands what it
did to the `Store`, which records it (id map, item states, progress, checkpoint) in one transaction. The
same pipeline makes a preview: with no destination, nothing is written and only counts and warnings are
kept. See ports.py for what the engine needs of a source, a destination and a store.
"""

PHASES = ("plan", "structure", "items", "states", "links", "attachments", "comments", "history", "remote_links",
          "sprints", "verify")
