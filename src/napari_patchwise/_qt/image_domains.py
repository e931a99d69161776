"""Domains in the Plan step's image list: the domain cell of an image is edited in place.

A *domain* tags images acquired alike (same microscope, same preparation):
consistency checks compare images only within a domain, and splits keep
every domain in training. Editing the cell calls what ``patchwise images
PROJECT --set-domain IMAGE=DOMAIN`` calls (the collection's
:meth:`~napari_patchwise.engine.plan.collection.Collection.set_domains`, then
:func:`~napari_patchwise.engine.plan.project_images.save_collection`); the
viewer holds the project's lock meanwhile, as for every change the dock makes.
"""

from __future__ import annotations

from napari.utils.notifications import show_error, show_info

from ..engine.plan.plan_file import ProjectError, load_collection
from ..engine.plan.project_images import save_collection

#: The image list's column of domains.
DOMAIN_COLUMN = 3


def set_image_domain(folder, name: str, domain: str | None) -> bool:
    """Tag image ``name`` of the project in ``folder`` with ``domain`` (empty or None clears it).

    ``plan.json`` is rewritten only when the tag changes; what changed is
    shown as a notification, a problem as an error. Returns whether the tag
    is now ``domain``.
    """
    domain = (domain or "").strip() or None
    try:
        collection = load_collection(folder)
        changed = collection.set_domains({name: domain})
        was = collection.image(name).domain
        if changed != collection:
            save_collection(folder, changed)
    except (ProjectError, ValueError) as e:
        show_error(f"The domain of {name} was not changed: {e}")
        return False
    if was != domain:
        show_info(f"{name}: domain {was or '(none)'} -> {domain or '(none)'}; consistency checks compare it "
                  f"with the images of its domain.")
    return True
