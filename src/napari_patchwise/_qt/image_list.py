"""The Plan step's image list: the images of a project, one shown at a time; add and remove images.

A project may hold several images (:mod:`napari_patchwise.engine.plan.collection`),
each with its own boxes and annotation layers. The viewer shows one of them
(the session's current image, :meth:`~napari_patchwise.layers.session.Session.image_of`),
which the Seed, QC and Export steps follow. Selecting another row saves the
plan and replaces the shown image's layers (image, boxes, wireframes,
annotation layers) with that image's, opened lazily by the project reader as
a drop or *Open project* does. *Add images…* adds image files as
``patchwise propose IMAGE... -o PROJECT`` does (the engine's
:func:`~napari_patchwise.engine.plan.image_adding.add_image_files`, in the
dock's runner); *Remove image* removes the selected image, asking first when
it holds annotated voxels (:func:`confirm_removal`). An image's domain is
edited in its cell (double-click, or F2), as ``patchwise images --set-domain``
does (:mod:`.image_domains`). The counts come from
:func:`~napari_patchwise.engine.plan.image_stats.image_stats`, read in a worker.
"""

from __future__ import annotations

from pathlib import Path

from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..engine.plan.annotation_store import ANNOTATIONS, open_annotations
from ..engine.plan.image_adding import add_image_files
from ..engine.plan.image_stats import ImageStats, image_stats, summary_text
from ..engine.plan.plan_file import ProjectError, load_collection
from ..engine.plan.project import save_plan
from ..engine.plan.project_images import annotated_voxels, remove_image
from ..layers.project_link import overlay_layers, project_layers
from .image_domains import DOMAIN_COLUMN, set_image_domain
from .runner import Runner
from .seed_preview import PREVIEW_NAME

#: The list's columns.
COLUMNS = ("image", "boxes", "annotated", "domain")
#: Rows the list shows before it scrolls.
VISIBLE_ROWS = 4


def confirm_removal(parent, question: str) -> bool:
    """Ask whether to remove an image that holds annotated voxels (Yes / No; No by default)."""
    answer = QMessageBox.question(parent, "napari-patchwise", question,
                                  QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                  QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def choose_image_files(parent) -> list[str]:
    """Image files to add, from a file dialog (several may be chosen); empty when cancelled."""
    files, _ = QFileDialog.getOpenFileNames(
        parent, "Add images to the project",
        filter="Images (*.tif *.tiff *.h5 *.hdf5 *.hdf *.npy *.mrc *.rec *.nrrd *.nii *.nii.gz);;All files (*)")
    return list(files)


class ImageList(QWidget):
    """The images of the planner's project: name, boxes, annotated voxels, domain; a summary line.

    ``planner`` is the :class:`.planner_widget.PlannerWidget` (its viewer,
    session, project, plan and ``open_project``).
    """

    def __init__(self, planner):
        super().__init__()
        self.planner = planner
        self.session = planner.session
        self.stats: list[ImageStats] = []
        self._filling = False
        self._asked = 0  # the newest count asked for: older answers are dropped
        self._dirty = False  # a count is due (done when the list is in sight)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked  # the domain cell only
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, len(COLUMNS)):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip("The project's images; select one to show it (its boxes and annotation layers). "
                              "Double-click a domain to tag images acquired alike.")
        row = self.table.verticalHeader().defaultSectionSize()
        self.table.setFixedHeight(header.sizeHint().height() + VISIBLE_ROWS * row + 2 * self.table.frameWidth())
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.add_button = QPushButton("Add images…")
        self.add_button.setToolTip("Add image files to the project (each with its own voxel size, no boxes yet).")
        self.remove_button = QPushButton("Remove image")
        self.remove_button.setToolTip("Remove the selected image and its annotation layers from the project.")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Images of the project:"))
        layout.addWidget(self.table)
        layout.addWidget(self.summary)
        layout.addLayout(buttons)
        self.runner = Runner(self, session=self.session)
        self._counter = QTimer(self)
        self._counter.setSingleShot(True)
        self._counter.setInterval(0)
        self._counter.timeout.connect(self._count)

        self.table.itemSelectionChanged.connect(self._on_selected)
        self.table.itemChanged.connect(self._on_item_changed)
        self.add_button.clicked.connect(lambda: self.add_images())
        self.remove_button.clicked.connect(lambda: self.remove_selected())
        self.session.plan_changed.connect(self._on_plan_changed)
        self.session.annotations_written.connect(self._on_annotations_written)
        self.session.project_closed.connect(self._on_project_closed)
        self.destroyed.connect(lambda *_: self._disconnect())
        self.setVisible(False)

    def _disconnect(self) -> None:
        self.session.plan_changed.disconnect(self._on_plan_changed)
        self.session.annotations_written.disconnect(self._on_annotations_written)
        self.session.project_closed.disconnect(self._on_project_closed)

    # -- what is shown ---------------------------------------------------------------
    @property
    def project(self) -> Path | None:
        return self.planner.project

    def shown(self) -> str | None:
        """The name of the image the viewer shows (the project's only one when it has one)."""
        name = self.session.image_of(self.project)
        if name is None and self.stats:
            return self.stats[0].name
        return name

    def names(self) -> list[str]:
        return [s.name for s in self.stats]

    def refresh(self) -> None:
        """Count every image's boxes and annotated voxels in a worker, then fill the list."""
        folder = self.project
        if folder is None:
            self.setVisible(False)
            return
        self.setVisible(True)
        self._asked += 1
        self._dirty = True
        if self.isVisible():  # else when it is shown: a list out of sight costs no reading
            self._counter.start()  # a turn later: the dock is in its window then (the runner delivers to that window)

    def showEvent(self, event):  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._dirty:
            self._counter.start()

    def _count(self) -> None:
        folder, asked = self.project, self._asked
        if folder is None or not self._dirty:
            return
        self._dirty = False
        self.runner.start(lambda progress: image_stats(folder), what="Counting the project's images", quiet=True,
                          returned=lambda stats: self._fill(stats) if asked == self._asked and folder == self.project
                          else None)

    def _fill(self, stats: list[ImageStats]) -> None:
        self.stats = list(stats)
        self._filling = True
        try:
            self.table.setRowCount(len(stats))
            shown = self.shown()
            for r, s in enumerate(stats):
                cells = (s.name, str(s.boxes), f"{s.annotated:,}", s.domain or "")
                for c, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    if c != DOMAIN_COLUMN:
                        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                    if c:
                        item.setTextAlignment(int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter))
                    font = item.font()
                    font.setBold(s.name == shown)
                    item.setFont(font)
                    self.table.setItem(r, c, item)
                if s.name == shown:
                    self.table.selectRow(r)
        finally:
            self._filling = False
        self.summary.setText(summary_text(self.stats))
        self.remove_button.setEnabled(len(stats) > 1)

    def _on_plan_changed(self, plan) -> None:
        """The shown image's box count follows the planner's plan at once (no recount)."""
        shown = self.shown()
        if self.planner.plan is not plan or shown not in self.names():
            return
        r = self.names().index(shown)
        s = self.stats[r]
        strata = frozenset(b.stratum for b in plan.boxes if b.stratum is not None)
        self.stats[r] = ImageStats(s.name, len(plan.boxes), s.annotated, s.domain, strata)
        item = self.table.item(r, 1)
        if item is not None:
            item.setText(str(len(plan.boxes)))
        self.summary.setText(summary_text(self.stats))

    def _on_annotations_written(self, project) -> None:
        if self.project is not None and Path(project).resolve() == Path(self.project).resolve():
            self.refresh()

    def _on_project_closed(self, folder) -> None:
        if self.project is not None and Path(folder) == Path(self.project).resolve() \
                and Path(folder) not in self.session.switching:
            self.stats = []
            self.table.setRowCount(0)
            self.setVisible(False)

    def _on_item_changed(self, item) -> None:
        if self._filling or item.column() != DOMAIN_COLUMN or item.row() >= len(self.stats):
            return
        self.set_domain(self.stats[item.row()].name, item.text())

    def set_domain(self, name: str, domain: str | None) -> bool:
        """Tag image ``name`` with ``domain`` (empty clears it) in ``plan.json``; the list is recounted."""
        if self.project is None:
            return False
        done = set_image_domain(self.project, name, domain)
        self.refresh()
        return done

    def selected(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.stats[rows[0].row()].name if rows and rows[0].row() < len(self.stats) else None

    def _on_selected(self) -> None:
        if self._filling:
            return
        name = self.selected()
        if name is not None and name != self.shown():
            self.show_image(name)

    # -- switching -------------------------------------------------------------------
    def _drop_layers(self, folder) -> None:
        """Take the shown image's layers out of the viewer, keeping the project's lock."""
        viewer = self.planner.viewer
        layers = project_layers(viewer.layers, folder)
        image = self.planner.image_layer()
        if image is not None and image not in layers:
            layers.insert(0, image)
        if PREVIEW_NAME in viewer.layers:  # a seed preview of this image
            layers.append(viewer.layers[PREVIEW_NAME])
        layers += overlay_layers(viewer.layers, folder)  # left behind, they would be drawn over the next image
        for layer in layers:
            if layer in viewer.layers:
                viewer.layers.remove(layer)

    def show_image(self, name: str) -> bool:
        """Show image ``name`` of the project instead of the shown one (its plan saved first)."""
        folder = self.project
        if folder is None or name == self.shown():
            return False
        if self.session.openings:
            show_warning("The project is still opening; choose the image again when its layers are in.")
            self._fill(self.stats)
            return False
        planner = self.planner
        try:
            if planner.sync is not None:
                save_plan(folder, planner.sync.plan, self.session.image_of(folder))
        except ProjectError as e:
            show_error(f"The plan of {self.shown()} could not be saved, so it stays shown: {e}")
            self._fill(self.stats)
            return False
        self._replace_layers(folder, name)
        return True

    def _replace_layers(self, folder, name: str | None) -> None:
        key = Path(folder).resolve()
        self.session.switching.add(key)
        try:
            self._drop_layers(folder)
            self.session.show_image(folder, name)
            self.planner.viewer.open(str(folder), plugin="napari-patchwise")
        except Exception as e:  # e.g. a plan damaged meanwhile: nothing of the project is left open
            self.session.switching.discard(key)
            self.session.release_unused()
            show_error(f"Opening image {name} of {folder} failed: {e}")
            return
        finally:
            self.session.switching.discard(key)
        self.refresh()

    # -- adding and removing ---------------------------------------------------------
    def add_images(self, files: list[str] | None = None) -> None:
        """Add image files (chosen in a dialog when not given) to the project in the dock's runner."""
        folder = self.project
        if folder is None:
            show_error("Open or save a project first: images are added to a project.")
            return
        if files is None:
            files = choose_image_files(self)
        if not files:
            return
        try:
            names = load_collection(folder).names
        except ProjectError as e:
            show_error(str(e))
            return
        if self.session.image_of(folder) is None:  # one image until now: from now on it is named
            self.session.show_image(folder, names[0])

        def added(result) -> None:
            for note in result.notes:
                show_warning(note)
            if result.skipped:
                show_info("Already in the project: " + ", ".join(f"{spec} (image {held})" for spec, held in result.skipped))
            if result.added:
                show_info(f"Added {', '.join(result.added)} to {folder}; select an image to show it.")
            self.refresh()

        self.planner.runner.start(lambda progress: add_image_files(folder, files), what="Adding images",
                                  label="adding images…", returned=added)

    def remove_selected(self) -> int | None:
        """Remove the selected image; one holding annotated voxels only when confirmed. Returns the
        voxels lost (None when nothing was removed)."""
        folder, name = self.project, self.selected()
        if folder is None or name is None:
            show_warning("Select the image to remove in the list first.")
            return None
        try:
            collection = load_collection(folder)
            plan = collection.plan(name)
            if len(collection.images) == 1:
                raise ProjectError(f"{name} is the project's only image; a project keeps at least one.")
            n = annotated_voxels(open_annotations(folder, plan, mode="r", image=name), plan) \
                if (Path(folder) / ANNOTATIONS / name).is_dir() else 0
        except (ProjectError, KeyError) as e:
            show_error(str(e))
            return None
        if n and not confirm_removal(self, f"Image {name} holds {n:,} annotated voxels; remove it from the "
                                           f"project and lose them?"):
            return None
        shown = name == self.shown()
        key = Path(folder).resolve()
        self.session.switching.add(key)
        try:
            if shown:
                self._drop_layers(folder)
            lost = remove_image(folder, name, confirm=True)
        except ProjectError as e:
            show_error(str(e))
            lost = None
        finally:
            self.session.switching.discard(key)
        if shown:  # the next image (or the previous, for the last) is shown instead
            names = list(collection.names)
            i = names.index(name)
            rest = names[:i] + names[i + 1:]
            if lost is None:
                self._replace_layers(folder, name)
            else:
                self._replace_layers(folder, rest[min(i, len(rest) - 1)] if len(rest) > 1 else None)
        else:
            self.refresh()
        if lost is not None:
            show_info(f"Removed image {name} from {folder}" + (f" ({lost:,} annotated voxels)." if lost else "."))
        return lost
