"""Pure builders of the screens' components: arguments in, components out; no I/O, no callbacks."""
