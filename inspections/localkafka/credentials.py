"""The SASL user's secret, as the local broker's tools take it: escaped in the JAAS line and
the properties file, and out of every command line (``ps`` shows argv to every user)."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

SCRAM_ITERATIONS = 4096  # Kafka's default
_HASHES = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}


class CredentialError(ValueError):
    pass


def jaas_quoted(value: str) -> str:
    """A JAAS option value in double quotes (Kafka's parser takes backslash escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def jaas_line(mechanism: str, user: str, password: str) -> str:
    if mechanism == "PLAIN":
        return ("org.apache.kafka.common.security.plain.PlainLoginModule required "
                f"username={jaas_quoted(user)} password={jaas_quoted(password)} "
                f"user_{user}={jaas_quoted(password)};")
    return ("org.apache.kafka.common.security.scram.ScramLoginModule required "
            f"username={jaas_quoted(user)} password={jaas_quoted(password)};")


def properties_value(value: str) -> str:
    """A value for a Java properties file, read as ISO 8859-1 with backslash escapes: a
    backslash doubled, control and non-Latin characters as \\uXXXX (UTF-16 units), a leading
    space kept."""
    out = []
    for char in value:
        if char == "\\":
            out.append("\\\\")
        elif " " <= char <= "~":
            out.append(char)
        else:
            units = char.encode("utf-16-be")
            out.extend(f"\\u{int.from_bytes(units[i:i + 2], 'big'):04x}"
                       for i in range(0, len(units), 2))
    text = "".join(out)
    return "\\" + text if text.startswith(" ") else text


def scram_argument(mechanism: str, user: str, password: str) -> str:
    """StorageTool's ``--add-scram`` value with the salted password (Kafka's parser splits
    on commas and takes no escapes, so the password itself, whatever it holds, is never in
    it); a CredentialError names a user name it cannot carry."""
    if not user or any(c in user for c in ',"\\[]') or user != user.strip():
        raise CredentialError(
            "INSPECTIONS_KAFKA_SASL_USERNAME: the local broker stores SCRAM users whose names "
            "hold no comma, quote, backslash, bracket or outer space")
    salt = os.urandom(32)
    salted = hashlib.pbkdf2_hmac(_HASHES[mechanism], password.encode(), salt, SCRAM_ITERATIONS)
    b64 = base64.b64encode
    return (f"{mechanism}=[name={user},salt={b64(salt).decode()},"
            f"iterations={SCRAM_ITERATIONS},saltedpassword={b64(salted).decode()}]")


def write_argfile(path: Path, args: list[str]) -> Path:
    """A java launcher argument file (``java @path``), readable by its owner only: what it
    holds is not on the command line."""
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text("\n".join('"' + a.replace("\\", "\\\\").replace('"', '\\"') + '"'
                              for a in args) + "\n")
    return path
