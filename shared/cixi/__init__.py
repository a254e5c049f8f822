"""Cixi's domain shared by several services: the towns and subdistricts (`towns`), the appeal process
against a refusal (`appeals`, with its table's DDL in `appeals_table`) and the published event contracts
(`contracts/`, one module per publishing service). Built on `shared.platform`; no mechanism depends on it.
"""
