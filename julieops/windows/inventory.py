"""`target.hardware`: CPU, memory, disk, network speed and Windows version of every post."""

from __future__ import annotations

import re

from julieops.windows.verdict import as_list, item, verdict

SCRIPT = r"""
# julieops-script: windows.inventory
param()
$cs = Get-CimInstance Win32_ComputerSystem
$os = Get-CimInstance Win32_OperatingSystem
@{
    ComputerSystem = $cs | Select-Object Name, Domain, Workgroup, PartOfDomain, TotalPhysicalMemory
    OperatingSystem = $os | Select-Object Caption, Version, BuildNumber, OSArchitecture, SystemDrive
    Processor = @(Get-CimInstance Win32_Processor | Select-Object Name, NumberOfCores)
    Disks = @(Get-CimInstance Win32_LogicalDisk -Filter 'DriveType=3' |
        Select-Object DeviceID, Size, FreeSpace, FileSystem)
    Adapters = @(Get-NetAdapter -Physical | Where-Object Status -eq 'Up' |
        Select-Object Name, InterfaceDescription, LinkSpeed, MediaType, PhysicalMediaType)
}
"""

GIB = 1024**3
MIN_RAM = 4 * GIB - 256 * 1024**2  # "4 Go" machines report a little less than 4 GiB
MIN_DISK = 500 * 1000**3 * 0.93  # a "500 Go" disk formats to about 465 GiB
WEAK_CPU = re.compile(r"celeron|pentium|atom|athlon|core\(tm\) i3|core i3|\bi3-|duo", re.I)


def _speed_bps(text: str) -> float:
    match = re.match(r"([\d.,]+)\s*([KMG]?)bps", text or "", re.I)
    if not match:
        return 0
    scale = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}[match.group(2).upper()]
    return float(match.group(1).replace(",", ".")) * scale


def machine_items(name: str, data: dict) -> list[dict]:
    items = []
    cpus = as_list(data.get("Processor"))
    cpu = (cpus[0].get("Name") or "").strip() if cpus else ""
    items.append(
        item(
            f"{name} — processeur",
            "warn" if not cpu or WEAK_CPU.search(cpu) else "ok",
            cpu or "processeur inconnu",
        )
    )
    memory = int((data.get("ComputerSystem") or {}).get("TotalPhysicalMemory") or 0)
    items.append(
        item(
            f"{name} — mémoire",
            "ok" if memory >= MIN_RAM else "fail",
            f"{memory / GIB:.1f} Go (minimum 4 Go)",
        )
    )
    system = ((data.get("OperatingSystem") or {}).get("SystemDrive") or "C:").upper()
    disks = as_list(data.get("Disks"))
    disk = next((d for d in disks if (d.get("DeviceID") or "").upper() == system), None)
    size = int((disk or {}).get("Size") or 0)
    items.append(
        item(
            f"{name} — disque {system}",
            "ok" if size >= MIN_DISK else "warn",
            f"{size / 1000**3:.0f} Go, {int((disk or {}).get('FreeSpace') or 0) / 1000**3:.0f} Go "
            "libres (minimum conseillé 500 Go)",
        )
    )
    adapters = as_list(data.get("Adapters"))
    fastest = max((_speed_bps(a.get("LinkSpeed")) for a in adapters), default=0)
    items.append(
        item(
            f"{name} — carte réseau",
            "ok" if fastest >= 1e9 else "warn",
            ", ".join(f"{a.get('Name')} {a.get('LinkSpeed')}" for a in adapters)
            or "aucune carte active",
        )
    )
    os_info = data.get("OperatingSystem") or {}
    build = int(os_info.get("BuildNumber") or 0)
    items.append(
        item(
            f"{name} — Windows",
            "ok" if build >= 10240 else "fail",
            f"{os_info.get('Caption', '?')} {os_info.get('OSArchitecture', '')} "
            f"(build {build}) ; Windows 10 minimum".strip(),
        )
    )
    return items


def hardware_verdict(machines: dict[str, dict]) -> dict:
    """machines: {post name: result of SCRIPT}."""
    items = [i for name, data in machines.items() for i in machine_items(name, data)]
    return verdict("Matériel des postes", items)
