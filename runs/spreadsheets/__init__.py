"""Runs from a spreadsheet and the Runs page to one (SPEC §10).

`columns` names the columns (the API's `RunIn` fields, nested ones dotted); `reading` turns an
upload into rows or refuses it whole; `importing` checks the rows with the wizard's rules and
puts them on the planner's Review; `template` writes the downloadable template; `exporting`
streams the Runs page's current filter out as CSV or XLSX.
"""
