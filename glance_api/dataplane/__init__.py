"""An image's bytes on their way between clients and Glance, and what guards them:

- ``accel``: bytes carried by nginx while the app decides (``ACCEL_SECRET``);
- ``capabilities``: upload URLs, one PUT of one image's bytes without a token;
- ``uploadslots``: how many uploads a user has running, across instances;
- ``ranges``: the file's ETag, ``Range`` and ``If-Range``;
- ``conditional``: the image's ETag, ``If-None-Match`` and ``If-Match``.

(``glance_api.draining``, which reads off what is left of a body, stays where projects'
settings name its middleware.)
"""
