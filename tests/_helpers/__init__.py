"""Helpers shared by several test folders (test files cannot import each other)."""
