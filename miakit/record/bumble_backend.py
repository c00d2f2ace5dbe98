"""A bleak back end over bumble: the unchanged recorder (bleak calls) talks to emulated sensors.

bumble runs a whole BLE stack in Python. Every emulated sensor is a bumble ``Device`` with its own
``Controller`` on a shared in-memory :class:`bumble.link.LocalLink`; this module adds one more
Device on that link, the *central*, and wraps it in bleak's back-end interfaces:

- :class:`BumbleScanner` (a ``BaseBleakScanner``): advertisements the central hears become
  ``BLEDevice`` + ``AdvertisementData``, filtered by service UUID like any bleak back end.
- :class:`BumbleClient` (a ``BaseBleakClient``): connect, discover the GATT table, read, write,
  subscribe, and report unsolicited disconnects through ``disconnected_callback``.

Both take the radio as a keyword argument that bleak passes through::

    radio = BumbleRadio()            # same link as the emulator: Emulator(..., link=radio.link)
    await radio.start()
    BleakScanner(backend=BumbleScanner, radio=radio)
    BleakClient(device, backend=BumbleClient, radio=radio)

Everything runs on the caller's asyncio loop; nothing here touches real hardware.
"""

from __future__ import annotations

import asyncio
import uuid as uuid_module
from collections.abc import Callable
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, AdvertisementDataCallback, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bumble.controller import Controller
from bumble.core import UUID, AdvertisingData
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR, Characteristic
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

__all__ = ["BumbleRadio", "BumbleScanner", "BumbleClient", "uuid_str", "advertised_name", "advertised_uuids"]

CENTRAL_ADDRESS = "C0:CE:17:7A:10:01"

_PROPERTY_NAMES = {
    Characteristic.Properties.BROADCAST: "broadcast",
    Characteristic.Properties.READ: "read",
    Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    Characteristic.Properties.WRITE: "write",
    Characteristic.Properties.NOTIFY: "notify",
    Characteristic.Properties.INDICATE: "indicate",
    Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES: "authenticated-signed-writes",
    Characteristic.Properties.EXTENDED_PROPERTIES: "extended-properties",
}


def uuid_str(value: UUID) -> str:
    """A bumble UUID (16- or 128-bit) as bleak spells it: 128-bit, lower case, dashed."""
    return str(uuid_module.UUID(bytes=bytes(reversed(value.to_bytes(force_128=True)))))


def advertised_name(adv: Advertisement) -> str | None:
    names = adv.data.get_all(AdvertisingData.COMPLETE_LOCAL_NAME) or adv.data.get_all(
        AdvertisingData.SHORTENED_LOCAL_NAME
    )
    return names[0] if names else None


def advertised_uuids(adv: Advertisement) -> list[str]:
    found: list[str] = []
    for kind in (
        AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    ):
        for group in adv.data.get_all(kind):
            found += [uuid_str(u) for u in group if uuid_str(u) not in found]
    return found


class BumbleRadio:
    """The central side of an emulated radio: one bumble Device on a LocalLink.

    Scanners register here; the central scans while at least one is active and fans every
    advertisement out to them. Connects are serialized (a controller has one pending connection at
    a time), as they are on a real adapter.
    """

    def __init__(self, link: LocalLink | None = None, *, address: str = CENTRAL_ADDRESS):
        self.link = link or LocalLink()
        self._address = address
        self.device: Device | None = None
        self._scanners: set[BumbleScanner] = set()
        self.connect_lock = asyncio.Lock()

    async def start(self) -> None:
        """Power the central on (idempotent)."""
        if self.device is not None:
            return
        controller = Controller("miakit-central", link=self.link, public_address=self._address)
        self.device = Device(address=Address(self._address), host=Host(controller, AsyncPipeSink(controller)))
        self.device.on(Device.EVENT_ADVERTISEMENT, self._on_advertisement)
        await self.device.power_on()

    async def add_scanner(self, scanner: BumbleScanner) -> None:
        await self.start()
        assert self.device is not None
        self._scanners.add(scanner)
        if not self.device.is_scanning:
            await self.device.start_scanning(scan_interval=10.0, scan_window=10.0, filter_duplicates=False)

    async def remove_scanner(self, scanner: BumbleScanner) -> None:
        self._scanners.discard(scanner)
        if not self._scanners and self.device is not None and self.device.is_scanning:
            await self.device.stop_scanning()

    def _on_advertisement(self, adv: Advertisement) -> None:
        for scanner in list(self._scanners):
            scanner.on_advertisement(adv)


class BumbleScanner(BaseBleakScanner):
    """bleak scanner back end that listens on a :class:`BumbleRadio`."""

    def __init__(
        self,
        detection_callback: AdvertisementDataCallback | None,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        *,
        radio: BumbleRadio,
        **kwargs: Any,
    ):
        super().__init__(detection_callback, service_uuids)
        self.radio = radio

    async def start(self) -> None:
        self.seen_devices = {}
        await self.radio.add_scanner(self)

    async def stop(self) -> None:
        await self.radio.remove_scanner(self)

    def on_advertisement(self, adv: Advertisement) -> None:
        uuids = advertised_uuids(adv)
        if not self.is_allowed_uuid(uuids):
            return
        name = advertised_name(adv)
        data = AdvertisementData(
            local_name=name,
            manufacturer_data={},
            service_data={},
            service_uuids=uuids,
            tx_power=None,
            rssi=adv.rssi,
            platform_data=(adv,),
        )
        address = adv.address.to_string(with_type_qualifier=False)
        device = self.create_or_update_device(address, address, name, adv.address, data)
        self.call_detection_callbacks(device, data)


class BumbleClient(BaseBleakClient):
    """bleak client back end: a GATT client on the central of a :class:`BumbleRadio`."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None,
        timeout: float,
        radio: BumbleRadio,
        **kwargs: Any,
    ):
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self.radio = radio
        if isinstance(address_or_ble_device, BLEDevice):
            details = address_or_ble_device.details
            self._peer_address = details if isinstance(details, Address) else Address(self.address)
            self._name = address_or_ble_device.name or self.address
        else:
            self._peer_address = Address(self.address, Address.RANDOM_DEVICE_ADDRESS)
            self._name = self.address
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._closing = False

    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        if pair:
            raise BleakError("pairing is not supported on the emulated radio")
        await self.radio.start()
        assert self.radio.device is not None
        async with self.radio.connect_lock:
            try:
                connection = await self.radio.device.connect(self._peer_address, timeout=self._timeout)
            except Exception as exc:  # bumble raises TimeoutError or its own core errors
                raise BleakError(f"could not connect to {self.address}: {exc!r}") from exc
        self._closing = False
        self._connection = connection
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._peer = Peer(connection)
        try:
            async with asyncio.timeout(self._timeout):
                self.services = await self._discover()
        except Exception as exc:
            await self.disconnect()
            raise BleakError(f"service discovery failed on {self.address}: {exc!r}") from exc

    async def _discover(self) -> BleakGATTServiceCollection:
        assert self._peer is not None
        collection = BleakGATTServiceCollection()
        await self._peer.discover_services()
        for service in self._peer.services:
            await service.discover_characteristics()
            bleak_service = BleakGATTService(service, service.handle, uuid_str(service.uuid))
            collection.add_service(bleak_service)
            for char in service.characteristics:
                await char.discover_descriptors()
                props = [name for flag, name in _PROPERTY_NAMES.items() if char.properties & flag]
                bleak_char = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    uuid_str(char.uuid),
                    props,  # type: ignore[arg-type]  # bleak's own property names, which its stubs type as Literals
                    lambda: self.mtu_size - 3,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for desc in char.descriptors:
                    collection.add_descriptor(BleakGATTDescriptor(desc, desc.handle, uuid_str(desc.type), bleak_char))
        return collection

    def _on_disconnection(self, reason: int) -> None:
        self._connection = None
        self._peer = None
        if not self._closing and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        try:
            await connection.disconnect()
        except Exception:  # already gone: the link dropped while we asked
            pass
        self._connection = None
        self._peer = None

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise BleakError("pairing is not supported on the emulated radio")

    async def unpair(self) -> None:
        raise BleakError("pairing is not supported on the emulated radio")

    def _require_peer(self) -> Peer:
        if self._peer is None:
            raise BleakError("Not connected")
        return self._peer

    async def read_gatt_char(self, characteristic: BleakGATTCharacteristic, **kwargs: Any) -> bytearray:
        return bytearray(await self._require_peer().read_value(characteristic.obj))

    async def read_gatt_descriptor(self, descriptor: BleakGATTDescriptor, **kwargs: Any) -> bytearray:
        return bytearray(await self._require_peer().read_value(descriptor.obj))

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any, response: bool) -> None:
        await self._require_peer().write_value(characteristic.obj, bytes(data), with_response=response)

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        await self._require_peer().write_value(descriptor.obj, bytes(data), with_response=True)

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        await self._require_peer().subscribe(characteristic.obj, lambda value: callback(bytearray(value)))

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        # Tell the sensor first (its CCCD to 0), then drop the callback: bumble's unsubscribe does
        # it the other way round, which loses the notifications still on the link.
        peer = self._require_peer()
        cccd = characteristic.obj.get_descriptor(GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR)
        if cccd is not None:
            await peer.write_value(cccd, b"\x00\x00", with_response=True)
        await peer.unsubscribe(characteristic.obj)
