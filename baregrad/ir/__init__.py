"""The graph: primitive ops, hash-consed nodes, a pattern rewriter and integer index algebra."""
