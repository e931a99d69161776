"""The Export step's collection fields: how splits are drawn, test images, other projects.

``patchwise export PROJECT [PROJECT ...] --split-by image|box --test-images
NAME,...`` in the dock. The fields only fill the
:class:`~napari_patchwise.engine.jobs.export.ExportRequest` the command builds
(``split_by`` and ``test_images`` of its options, ``more`` for the other
projects); the engine checks them and decides the splits. They sit in a
*More* section, folded by default so the step keeps fitting a small screen.
"""

from __future__ import annotations

from pathlib import Path

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

#: The "split by" choices: label and the engine's ``split_by`` (None: the engine decides).
SPLIT_CHOICES = (("default (by image from 3 images on, else by box)", None),
                 ("image (no image in two splits)", "image"), ("box", "box"))
#: Rows a list shows before it scrolls.
LIST_ROWS = 3


def choose_project_folder(parent) -> str:
    """A project folder from a folder dialog; empty when cancelled."""
    return QFileDialog.getExistingDirectory(parent, "Add a project to export into the same dataset")


def _short_list(rows: int = LIST_ROWS) -> QListWidget:
    widget = QListWidget()
    widget.setFixedHeight(widget.sizeHintForRow(0) * rows + 2 * widget.frameWidth()
                          if widget.sizeHintForRow(0) > 0 else 22 * rows + 2 * widget.frameWidth())
    return widget


class CollectionFields(QWidget):
    """*More*: split by, test images (a project of several images, or several projects), other projects
    (folder dialog)."""

    #: The other projects listed changed (one added or removed).
    projects_changed = Signal()

    def __init__(self):
        super().__init__()
        self.toggle = QToolButton()
        self.toggle.setText("More: split by, test images, other projects")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setStyleSheet("QToolButton { border: none; }")
        self.body = QWidget()
        self.split_by = QComboBox()
        for label, value in SPLIT_CHOICES:
            self.split_by.addItem(label, value)
        self.split_by.setToolTip("draw splits per image (every box of an image in one split) or per box")
        self.test_images_label = QLabel("test images")
        self.test_images = _short_list()
        self.test_images.setToolTip("images held out whole as the test split (nnU-Net imagesTs/labelsTs)")
        self.projects = _short_list()
        self.projects.setToolTip("further projects exported into the same dataset (they need the same classes)")
        self.projects.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        self.add_project_button = QPushButton("Add project…")
        self.remove_project_button = QPushButton("Remove")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.add_project_button)
        buttons.addWidget(self.remove_project_button)
        form = QFormLayout(self.body)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("split by", self.split_by)
        form.addRow(self.test_images_label, self.test_images)
        form.addRow("other projects", self.projects)
        form.addRow("", buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.toggle)
        layout.addWidget(self.body)
        self.body.setVisible(False)
        self.toggle.toggled.connect(self.unfold)
        self.add_project_button.clicked.connect(lambda: self.add_projects())
        self.remove_project_button.clicked.connect(lambda: self.remove_selected_projects())
        self.set_images([])

    def unfold(self, shown: bool = True) -> None:
        """Show (or fold away) the fields."""
        if self.toggle.isChecked() != shown:
            self.toggle.setChecked(shown)  # comes back here through toggled
            return
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)
        self.body.setVisible(shown)

    # -- split by and test images --------------------------------------------------
    def chosen_split_by(self) -> str | None:
        return self.split_by.currentData()

    def set_split_by(self, value: str | None) -> None:
        self.split_by.setCurrentIndex([v for _, v in SPLIT_CHOICES].index(value))

    def set_images(self, names) -> None:
        """The project's images (the test images list is shown when there are several); ticks kept by name."""
        ticked = set(self.chosen_test_images())
        self.test_images.clear()
        for name in names:
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if name in ticked else Qt.CheckState.Unchecked)
            self.test_images.addItem(item)
        several = len(names) > 1
        self.test_images.setVisible(several)
        self.test_images_label.setVisible(several)

    def image_names(self) -> list[str]:
        return [self.test_images.item(r).text() for r in range(self.test_images.count())]

    def chosen_test_images(self) -> tuple[str, ...]:
        items = [self.test_images.item(r) for r in range(self.test_images.count())]
        return tuple(i.text() for i in items if i.checkState() == Qt.CheckState.Checked)

    def set_test_images(self, names) -> None:
        """Tick these images (and untick the others)."""
        for r in range(self.test_images.count()):
            item = self.test_images.item(r)
            item.setCheckState(Qt.CheckState.Checked if item.text() in set(names) else Qt.CheckState.Unchecked)

    # -- other projects ------------------------------------------------------------
    def other_projects(self) -> tuple[Path, ...]:
        return tuple(Path(self.projects.item(r).text()) for r in range(self.projects.count()))

    def add_projects(self, folders=None) -> list[Path]:
        """Add project folders (one chosen in a folder dialog when not given); each is listed once."""
        if folders is None:
            folder = choose_project_folder(self)
            folders = [folder] if folder else []
        have = {p.resolve() for p in self.other_projects()}
        added = []
        for folder in map(Path, folders):
            if folder.resolve() not in have:
                self.projects.addItem(str(folder))
                have.add(folder.resolve())
                added.append(folder)
        if added:
            self.projects_changed.emit()
        return added

    def remove_selected_projects(self) -> None:
        items = self.projects.selectedItems()
        for item in items:
            self.projects.takeItem(self.projects.row(item))
        if items:
            self.projects_changed.emit()
