"""Twisted hosting: the HTTP resources, the request pipeline and the listener."""
