"""The citizens' public site (信息公开): served by central under /public/, no login, mobile first,
in Chinese, with nothing loaded from outside.

- the matter guide (`/public/guide`): matters per department, documents, limits, fees, where;
- the progress query (`/public/progress`): a case number and the last four digits of its phone;
- the public figures (`/public/figures`): per department and month;
- online booking (`/public/booking`), and its cancellation with the code.

`site.PublicSite` holds what the pages read; `pages.mount` adds them to central's
application. The domain parts it uses (`central.booking`, `central.guide`, the
case store) never import it.
"""

from central.public.settings import PublicSettings
from central.public.site import PublicSite

__all__ = ["PublicSettings", "PublicSite"]
