"""The city model: boundaries, community points, grids, units, roster; assignment; map layers. No SQL, Redis or Dash."""
