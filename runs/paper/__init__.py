"""The paper that goes with a run (SPEC §14): travelers and labels as PDFs.

`fonts` registers the shipped Unicode font, `qr` draws QR codes, `travelers` and `labels`
each turn runs into a PDF, and `views` answers the run, batch and created pages' downloads.
"""
