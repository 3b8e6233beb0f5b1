"""`[database]`: where central's event store lives, by URL (docs/operations.md, "Central on PostgreSQL")."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator

from spine.config import Section
from spine.storeurl import StoreUrl, StoreUrlError


class DatabaseSettings(Section):
    url: str | None = Field(
        None, description="sqlite:///FILE or postgresql://USER@HOST[:PORT]/DATABASE (no password in "
        "it); none: <data_dir>/events.sqlite. On PostgreSQL, only the event store so far")
    password_file: Path | None = Field(
        None, description="the PostgreSQL password, alone on the file's first line (mode 0600)")

    @model_validator(mode="after")
    def _names_a_store(self) -> DatabaseSettings:
        if self.url is None:
            if self.password_file is not None:
                raise ValueError("password_file without a url: name the PostgreSQL database in url")
            return self
        try:
            StoreUrl.parse(self.url, password_file=self.password_file)
        except StoreUrlError as exc:
            raise ValueError(str(exc)) from None
        return self

    def store_url(self, default: Path) -> StoreUrl:
        """The store this section names, or the SQLite file `default`."""
        if self.url is None:
            return StoreUrl.sqlite_file(default)
        return StoreUrl.parse(self.url, password_file=self.password_file)
