"""Structural check of an XLSX written by akt_export (run by golden_test.cpp).

usage: check_xlsx.py FILE.xlsx EXPECT.json
EXPECT: {"sheets": [[name, rows_including_header, first_header_cell], ...], "contains": "text"}
Checks: the ZIP is valid (CRCs), every XML part parses, the workbook lists the sheets in order with
their relationships and content types, each sheet has the expected row count, cells use inline
strings or numbers only, and `contains` appears verbatim in some cell. Exit 0 when all hold.
"""
import json
import sys
import zipfile
import xml.etree.ElementTree as ET

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "p": "http://schemas.openxmlformats.org/package/2006/relationships",
      "ct": "http://schemas.openxmlformats.org/package/2006/content-types"}


def fail(msg):
    print("check_xlsx: " + msg)
    sys.exit(1)


def main():
    path, expect = sys.argv[1], json.load(open(sys.argv[2], encoding="utf-8"))
    with zipfile.ZipFile(path) as z:
        bad = z.testzip()
        if bad:
            fail("bad CRC in " + bad)
        names = z.namelist()
        for required in ["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"]:
            if required not in names:
                fail("missing part " + required)
        parts = {n: ET.fromstring(z.read(n)) for n in names if n.endswith(".xml") or n.endswith(".rels")}
        overrides = {o.get("PartName") for o in parts["[Content_Types].xml"].findall("ct:Override", NS)}
        rels = {r.get("Id"): r.get("Target") for r in parts["xl/_rels/workbook.xml.rels"].findall("p:Relationship", NS)}
        sheets = parts["xl/workbook.xml"].findall("m:sheets/m:sheet", NS)
        if len(sheets) != len(expect["sheets"]):
            fail("sheet count %d != %d" % (len(sheets), len(expect["sheets"])))
        found = False
        for sheet, (name, rows, first) in zip(sheets, expect["sheets"]):
            if sheet.get("name") != name:
                fail("sheet name %r != %r" % (sheet.get("name"), name))
            target = "xl/" + rels[sheet.get("{%s}id" % NS["r"])]
            if "/" + target not in overrides:
                fail("no content type for " + target)
            data = parts[target].findall("m:sheetData/m:row", NS)
            if len(data) != rows:
                fail("%s: %d rows != %d" % (name, len(data), rows))
            header = data[0].find("m:c/m:is/m:t", NS)
            if header is None or header.text != first:
                fail("%s: first header cell %r != %r" % (name, header.text if header is not None else None, first))
            for row in data:
                for c in row.findall("m:c", NS):
                    t = c.get("t")
                    if t == "inlineStr":
                        text = c.find("m:is/m:t", NS).text or ""
                        found = found or expect["contains"] in text
                    elif t is None:
                        float(c.find("m:v", NS).text)
                    else:
                        fail("unexpected cell type " + t)
        if not found:
            fail("text %r not found in any cell" % expect["contains"])
    print("check_xlsx: ok")


main()
