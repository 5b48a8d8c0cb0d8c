// The manifest grammar lives in `ManifestParsing` (CSV.swift only), so the fuzz targets build it without
// this module's SHA-256 and image dependencies; every user of `Datasets` keeps seeing it here.
@_exported import ManifestParsing
