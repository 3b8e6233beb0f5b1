"""Where a store lives, as a URL: a SQLite file or a PostgreSQL database, its password kept apart.

`sqlite:///var/central/events.sqlite` (relative) or `sqlite:////srv/events.sqlite`
(absolute) names a file; `postgresql://hall_central@db.example:5432/hallwatch` a
database on a server. A password is never written in the URL: it is read from a
file only the service's user can read (`password_file`), so a configuration can be
shown, copied into a ticket or logged without it. Every text form of a `StoreUrl`
(`str`, `repr`, `masked`) hides the password; only `secret_url()`, handed straight
to the driver, carries it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

SCHEMES = ("sqlite", "postgresql")
MASK = "***"


class StoreUrlError(ValueError):
    """A store URL that names no store hallwatch can open (the message says what would be right)."""


@dataclass(frozen=True)
class StoreUrl:
    """A parsed store URL; the password, when there is one, comes from `password_file`."""

    scheme: str
    path: Path | None = None
    """The SQLite file (sqlite only)."""
    user: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    password_file: Path | None = None

    @classmethod
    def parse(cls, url: str, *, password_file: Path | None = None) -> StoreUrl:
        """`url` checked; a password written inside it is refused (it belongs in `password_file`)."""
        parts = urlsplit(url)
        scheme = parts.scheme.split("+", 1)[0]
        if scheme not in SCHEMES:
            raise StoreUrlError(f"a store URL starts with sqlite:/// or postgresql://, not {_safe(url)!r}")
        if parts.password is not None:
            raise StoreUrlError("a store URL carries no password: put it in a file and name the file "
                                "in password_file")
        if scheme == "sqlite":
            # sqlite:///relative/file and sqlite:////absolute/file, as SQLAlchemy spells them.
            if parts.netloc or not parts.path.startswith("/") or len(parts.path) < 2:
                raise StoreUrlError(f"a SQLite store URL is sqlite:///FILE, not {url!r}")
            if password_file is not None:
                raise StoreUrlError("a SQLite file has no password: leave password_file out")
            return cls(scheme="sqlite", path=Path(unquote(parts.path[1:])))
        database = unquote(parts.path.lstrip("/"))
        if not parts.hostname or not database or not parts.username:
            raise StoreUrlError("a PostgreSQL store URL is postgresql://USER@HOST[:PORT]/DATABASE, "
                                f"not {_safe(url)!r}")
        return cls(scheme="postgresql", user=unquote(parts.username), host=parts.hostname,
                   port=parts.port, database=database, password_file=password_file)

    @classmethod
    def sqlite_file(cls, path: Path) -> StoreUrl:
        return cls(scheme="sqlite", path=Path(path))

    @property
    def is_sqlite(self) -> bool:
        return self.scheme == "sqlite"

    def password(self) -> str | None:
        """The password read from `password_file` (its first line; None without a file)."""
        if self.password_file is None:
            return None
        try:
            lines = self.password_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise StoreUrlError(f"cannot read the store's password_file {self.password_file}: "
                                f"{exc.strerror}") from exc
        return lines[0] if lines else ""

    def secret_url(self) -> str:
        """The URL with the password, for the driver only: never log or show it."""
        password = self.password()
        return self._render(quote(password, safe="") if password is not None else None)

    def masked(self) -> str:
        """The URL as it may be shown and logged: the password, if any, replaced by ***."""
        return self._render(MASK if self.password_file is not None else None)

    def _render(self, password: str | None) -> str:
        """The URL with `password` (already quoted for a URL) as the password, if any."""
        if self.is_sqlite:
            return f"sqlite:///{self.path}"
        secret = f":{password}" if password is not None else ""
        port = f":{self.port}" if self.port is not None else ""
        return f"postgresql+psycopg://{quote(self.user or '', safe='')}{secret}@{self.host}{port}/" \
               f"{quote(self.database or '', safe='')}"

    def __str__(self) -> str:
        return self.masked()

    def __repr__(self) -> str:
        return f"StoreUrl({self.masked()!r})"


def _safe(url: str) -> str:
    """A URL as an error message may quote it: any password in it masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", f":{MASK}@", 1)
