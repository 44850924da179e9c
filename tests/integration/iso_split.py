#!/usr/bin/env python3
"""Make a file of an ISO 9660 image multi-extent with parts that are not
adjacent: the directory record of FIRST becomes two records, the first
flagged multi-extent (its own data), the second pointing at the first
LENGTH bytes of SECOND's data. The file then reads as FIRST + SECOND[:LENGTH].

    iso_split.py IMAGE FIRST SECOND LENGTH     (names as in the root, e.g. A.BIN)

Edits the image in place. Only the root directory is searched, and it must
have room for one more record in the sector holding FIRST's record.
"""
import struct
import sys

SECTOR = 2048


def both32(v):
    return struct.pack('<I', v) + struct.pack('>I', v)


def main():
    path, first, second, length = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    with open(path, 'r+b') as f:
        img = bytearray(f.read())
        pvd = 16 * SECTOR
        assert img[pvd + 1:pvd + 6] == b'CD001'
        root = pvd + 156
        root_lba = struct.unpack('<I', img[root + 2:root + 6])[0]
        root_len = struct.unpack('<I', img[root + 10:root + 14])[0]
        records = {}
        pos = root_lba * SECTOR
        end = pos + root_len
        while pos < end:
            n = img[pos]
            if n == 0:  # records do not cross sectors: on to the next one
                pos = (pos // SECTOR + 1) * SECTOR
                continue
            name = bytes(img[pos + 33:pos + 33 + img[pos + 32]]).split(b';')[0].decode()
            records[name] = pos
            pos += n
        a, b = records[first], records[second]
        b_lba = struct.unpack('<I', img[b + 2:b + 6])[0]
        sector_start = (a // SECTOR) * SECTOR
        used = sector_start
        while used < sector_start + SECTOR and img[used] != 0:
            used += img[used]
        rec = bytes(img[a:a + img[a]])
        if used + len(rec) > sector_start + SECTOR:
            sys.exit('no room in the directory sector')
        # Shift what follows FIRST's record, then write the second part.
        tail = bytes(img[a + len(rec):used])
        img[a + 2 * len(rec):used + len(rec)] = tail
        part1 = bytearray(rec)
        part1[25] |= 0x80
        part2 = bytearray(rec)
        part2[2:10] = both32(b_lba)
        part2[10:18] = both32(length)
        img[a:a + len(rec)] = part1
        img[a + len(rec):a + 2 * len(rec)] = part2
        f.seek(0)
        f.write(img)


if __name__ == '__main__':
    main()
