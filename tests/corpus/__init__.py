"""User programs in the style of public conventions, with bug variants: see manifest.py."""
