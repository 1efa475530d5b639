"""File and API formats, one module per format: Deribit API objects (deribit), position files
(book_files), market snapshots (market_files), and JSON reading with errors naming the file (json_files).
Book and Market constructors (Book.from_csv, Market.from_json, ...) delegate here."""

from __future__ import annotations
