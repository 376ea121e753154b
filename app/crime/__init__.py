"""Crime data: police.uk imports, areas (boundaries), and the queries analysis needs."""
