"""Vector stores behind one protocol: the seam between the index and the search engine."""
