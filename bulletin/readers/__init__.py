"""Format-specific readers behind :func:`bulletin.forecast.open_forecast`.

* :mod:`bulletin.readers.detect` - which format a path holds, from its content;
* :mod:`bulletin.readers.grib` - GRIB 1/2 read with ecCodes message by message into lazy
  datasets (every field of multi-field messages), with the accumulation windows (start step
  of every statistically processed message);
* :mod:`bulletin.readers.grib_grids` - GRIB grid geometry in the canonical layouts and
  grid-relative winds turned to east and north;
* :mod:`bulletin.readers.cf` - CF NetCDF (h5netcdf and scipy engines) and Zarr stores;
* :mod:`bulletin.readers.wrf` - WRF ``wrfout`` files to CF variables (relative humidity from
  ``Q2``, earth-relative 10 m winds, precipitation from ``RAINC + RAINNC``);
* :mod:`bulletin.readers.winds` - grid-relative wind components to earth-relative;
* :mod:`bulletin.readers.coords` - each format's coordinates to member, time and one of the
  schema's horizontal layouts (latitude/longitude, y/x with 2-D coordinates, cell);
* :mod:`bulletin.readers.catalogue` - the source variables each schema field can come from,
  matched on CF ``standard_name``, GRIB ``shortName``/``paramId`` and units;
* :mod:`bulletin.readers.accumulation` - mean rates from accumulated or averaged fields;
* :mod:`bulletin.readers.eccodes_loader` - imports ecCodes after pyproj (a crash otherwise);
* :mod:`bulletin.readers.opendata` - fetches the latest complete run of ECMWF open data into a
  cache (the daily run's ``forecast = "ecmwf-opendata:<model>"``).

Each reader returns plain :class:`xarray.Dataset` objects in the file's own naming; the
normalisation to :mod:`bulletin.schema` happens in :mod:`bulletin.forecast`.
"""
