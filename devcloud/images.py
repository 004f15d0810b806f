"""Small, valid disk images made locally, so nothing is downloaded.

Glance inspects uploads and refuses data that does not match the image's
``disk_format`` (``[image_format] require_image_format_match``), so these are
real formats, not renamed bytes: an empty qcow2 laid out as ``qemu-img create``
does, and an ISO 9660 image with a primary volume descriptor.
"""

import struct

SECTOR = 2048  # ISO 9660 logical block size
QCOW2_CLUSTER_BITS = 16


def raw_image(size: int = 256 * 1024, label: str = "glance_api sample") -> bytes:
    """A raw disk: a text pattern, deterministic and free of any format's magic."""
    pattern = f"{label} raw disk\n".encode()
    return (pattern * (size // len(pattern) + 1))[:size]


def qcow2_image(virtual_size: int = 64 * 1024 * 1024) -> bytes:
    """An empty qcow2 v3 image: header, refcount table and block, and L1 table."""
    cluster = 1 << QCOW2_CLUSTER_BITS
    l2_entries = cluster // 8
    l1_size = -(-virtual_size // (cluster * l2_entries))
    refcount_table, refcount_block, l1_table = cluster, 2 * cluster, 3 * cluster
    header = struct.pack(
        ">4sIQIIQIIQQIIQQQQII",
        b"QFI\xfb",
        3,  # version
        0,  # backing_file_offset
        0,  # backing_file_size
        QCOW2_CLUSTER_BITS,
        virtual_size,
        0,  # crypt_method
        l1_size,
        l1_table,
        refcount_table,
        1,  # refcount_table_clusters
        0,  # nb_snapshots
        0,  # snapshots_offset
        0,  # incompatible_features
        0,  # compatible_features
        0,  # autoclear_features
        4,  # refcount_order: 16-bit refcounts
        104,  # header_length
    )
    image = bytearray(4 * cluster)
    image[: len(header)] = header
    image[len(header) : len(header) + 8] = bytes(8)  # end of header extensions
    struct.pack_into(">Q", image, refcount_table, refcount_block)
    for index in range(4):  # header, refcount table, refcount block, L1 table
        struct.pack_into(">H", image, refcount_block + 2 * index, 1)
    return bytes(image)


def _both_endian32(value: int) -> bytes:
    return struct.pack("<I", value) + struct.pack(">I", value)


def _both_endian16(value: int) -> bytes:
    return struct.pack("<H", value) + struct.pack(">H", value)


def iso_image(volume_id: str = "GLANCE_API_SAMPLE", data_sectors: int = 8) -> bytes:
    """An ISO 9660 image: system area, primary volume descriptor, terminator, root dir."""
    root_sector = 18
    total_sectors = root_sector + 1 + data_sectors
    root_record = bytearray(34)
    root_record[0] = 34  # record length
    root_record[2:10] = _both_endian32(root_sector)
    root_record[10:18] = _both_endian32(SECTOR)
    root_record[25] = 0x02  # directory
    root_record[28:32] = _both_endian16(1)  # volume sequence number
    root_record[32] = 1  # name length
    root_record[33] = 0  # the root's name

    pvd = bytearray(SECTOR)
    pvd[0] = 1
    pvd[1:6] = b"CD001"
    pvd[6] = 1
    pvd[8:40] = b" " * 32
    pvd[40:72] = volume_id.upper().encode().ljust(32)[:32]
    pvd[80:88] = _both_endian32(total_sectors)
    pvd[120:124] = _both_endian16(1)  # volume set size
    pvd[124:128] = _both_endian16(1)  # volume sequence number
    pvd[128:132] = _both_endian16(SECTOR)
    pvd[156:190] = root_record
    pvd[190:813] = b" " * 623  # set, publisher, preparer, application ids
    pvd[881] = 1  # file structure version

    terminator = bytearray(SECTOR)
    terminator[0] = 255
    terminator[1:6] = b"CD001"
    terminator[6] = 1

    root_dir = bytearray(SECTOR)
    dot = bytearray(root_record)
    dotdot = bytearray(root_record)
    dotdot[33] = 1
    root_dir[0:34] = dot
    root_dir[34:68] = dotdot

    return (
        bytes(16 * SECTOR)
        + bytes(pvd)
        + bytes(terminator)
        + bytes(root_dir)
        + bytes(data_sectors * SECTOR)
    )
