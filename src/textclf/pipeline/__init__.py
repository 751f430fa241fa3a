"""The DVC stages (prepare, train, evaluate), model loading and the sample data: what data scientists edit.

Imports only the shared ground (`textclf.config`, `atomic`, `s3uri`, `text`, `verdict`).
"""
