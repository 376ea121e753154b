"""Tests of crime data: importing police.uk files."""
