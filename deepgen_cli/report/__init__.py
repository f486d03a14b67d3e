"""Torch-free rendering of result records: the record and its files, tables, Markdown, plots."""
