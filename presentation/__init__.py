"""What people see, shared by the app and the CLI: Plotly figures, the HTML report, exports.

Imports the engine and Plotly, never Streamlit: the CLI writes the same report the
app offers for download.
"""
