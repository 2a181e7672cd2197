"""Streamlit helpers shared by app.py and the pages: the frame, caches and small views."""
