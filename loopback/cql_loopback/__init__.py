"""Test helpers shipped with concurrent_ext.

``CQLServer`` is a loopback CQL native protocol v4 server with in-memory
tables and fault injection, good enough for the real driver's ``Cluster``
to run real workloads against (see its docstring).
"""
from cql_loopback.cql_server import CQLServer

__all__ = ["CQLServer"]
