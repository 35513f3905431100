"""The device registry: register, list, rotate a key, decommission; a cache for ingest.

The platform can make a key pair (the private key is shown once and never stored) or accept
a public key made on the device, so the private key never leaves the sensor.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from stadswacht.errors import DeviceStateError, InvalidReading, UnknownDevice
from stadswacht.model import Device, DeviceKind, DeviceStatus, Position, Quarantine
from stadswacht.model.signing import generate_key, load_public_key, private_key_b64, public_key_b64
from stadswacht.store.base import Store

__all__ = ["DeviceRegistry", "Registration"]


@dataclass(frozen=True, slots=True)
class Registration:
    """A registered device and, if the platform made the key, its private key (shown once)."""

    device: Device
    private_key: str | None


class DeviceRegistry:
    """Devices and their verification keys, cached for ``ttl`` seconds.

    With several ingest processes, a change made by one (a rotated key, a decommissioned
    device) is seen by the others within ``ttl`` [s].
    """

    def __init__(self, store: Store, ttl: float = 5.0) -> None:
        self.store = store
        self.ttl = ttl
        self._cache: dict[str, tuple[float, Device, Ed25519PublicKey]] = {}
        self._lock = threading.Lock()

    # --- administration ----------------------------------------------------------------
    def register(
        self,
        device_id: str,
        *,
        kind: DeviceKind | str,
        position: Position,
        agency: str,
        area: str | None = None,
        public_key: str | None = None,
        gateway_for: Iterable[str] = (),
        broker_username: str | None = None,
    ) -> Registration:
        """Register a device; without ``public_key`` a key pair is made and returned once."""
        private: str | None = None
        if public_key is None:
            key = generate_key()
            private, public_key = private_key_b64(key), public_key_b64(key)
        device = Device(
            id=device_id,
            kind=DeviceKind(kind),
            position=position,
            agency=agency,
            area=area,
            public_key=public_key,
            gateway_for=tuple(gateway_for),
            broker_username=broker_username,
        )
        self.store.add_device(device)
        return Registration(device, private)

    def rotate_key(self, device_id: str, public_key: str | None = None) -> Registration:
        """Give a device a new key; readings signed with the old one are rejected from now."""
        device = self.store.get_device(device_id)
        private: str | None = None
        if public_key is None:
            key = generate_key()
            private, public_key = private_key_b64(key), public_key_b64(key)
        updated = device.model_copy(
            update={"public_key": public_key, "key_version": device.key_version + 1}
        )
        Device.model_validate(updated.model_dump())  # check the new key
        self.store.update_device(updated)
        self.invalidate(device_id)
        return Registration(updated, private)

    def decommission(self, device_id: str) -> Device:
        """Mark a device decommissioned; its readings are rejected from now on."""
        device = self.store.get_device(device_id)
        updated = device.model_copy(update={"status": DeviceStatus.DECOMMISSIONED})
        self.store.update_device(updated)
        self.invalidate(device_id)
        return updated

    def quarantine(
        self,
        device_id: str,
        *,
        check: str,
        reason: str,
        detection: str | None = None,
        since: datetime | None = None,
    ) -> Device | None:
        """Quarantine an active device: its readings are still stored but the detectors leave
        them out until :meth:`clear`. Returns the updated device, or None when it was not
        active (already quarantined, or decommissioned)."""
        device = self.store.get_device(device_id)
        if device.status is not DeviceStatus.ACTIVE:
            return None
        note = Quarantine(
            since=since or datetime.now(UTC), check=check, reason=reason, detection=detection
        )
        updated = device.model_copy(update={"status": DeviceStatus.QUARANTINED, "quarantine": note})
        self.store.update_device(updated)
        self.invalidate(device_id)
        return updated

    def clear(self, device_id: str) -> Device:
        """Lift a quarantine (a person decided the device can be trusted again)."""
        device = self.store.get_device(device_id)
        if device.status is not DeviceStatus.QUARANTINED:
            raise DeviceStateError(
                f"device {device_id!r} is {device.status.value}, not quarantined"
            )
        updated = device.model_copy(update={"status": DeviceStatus.ACTIVE, "quarantine": None})
        self.store.update_device(updated)
        self.invalidate(device_id)
        return updated

    def quarantined(self, device_id: str) -> bool:
        """Whether the detectors should leave this device's readings out (cached lookup);
        an unknown device counts as not quarantined."""
        try:
            return self.lookup(device_id)[0].status is DeviceStatus.QUARANTINED
        except UnknownDevice:
            return False

    def list(self, agency: str | None = None) -> list[Device]:
        """Registered devices, optionally of one agency."""
        return self.store.list_devices(agency)

    def get(self, device_id: str) -> Device:
        """A registered device, or raise ``UnknownDevice``."""
        return self.lookup(device_id)[0]

    # --- ingest --------------------------------------------------------------------------
    def invalidate(self, device_id: str | None = None) -> None:
        """Forget cached devices (one, or all)."""
        with self._lock:
            if device_id is None:
                self._cache.clear()
            else:
                self._cache.pop(device_id, None)

    def lookup(self, device_id: str) -> tuple[Device, Ed25519PublicKey]:
        """The device and its loaded public key, from the cache when fresh."""
        now = time.monotonic()
        hit = self._cache.get(device_id)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1], hit[2]
        device = self.store.get_device(device_id)
        entry = (now, device, load_public_key(device.public_key))
        with self._lock:
            self._cache[device_id] = entry
        return device, entry[2]

    def active(self, device_id: str) -> tuple[Device, Ed25519PublicKey]:
        """Like :meth:`lookup`, raising :class:`InvalidReading` for ingest's reasons."""
        try:
            device, key = self.lookup(device_id)
        except UnknownDevice:
            raise InvalidReading(
                "unknown_device",
                f"device {device_id!r} is not registered; register it with "
                "`stadswacht device add` first",
            ) from None
        if device.status is DeviceStatus.DECOMMISSIONED:
            raise InvalidReading(
                "decommissioned",
                f"device {device_id!r} is decommissioned; its readings are refused",
            )
        return device, key
