"""ParaView opens what `slipstream predict` wrote and renders it: surface.vtp coloured by Cp, a
screenshot saved, and the picture checked to show a coloured body (not an empty view).

Run with ParaView's own Python (Debian package `paraview`):
    pvbatch tests/interop/paraview_screenshot.py PREDICTION_DIR OUT.png
(`pvpython` works the same where it is installed.)
"""
import sys
from pathlib import Path

from paraview import simple as pv

if len(sys.argv) != 3:
    sys.exit(__doc__)
prediction, png = Path(sys.argv[1]), Path(sys.argv[2])
surface_path = prediction / "surface.vtp"

reader = pv.XMLPolyDataReader(FileName=[str(surface_path)])
reader.UpdatePipeline()
info = reader.GetDataInformation()
cells = info.GetNumberOfCells()
names = [reader.CellData[i].GetName() for i in range(len(reader.CellData))]
for wanted in ["pressure_pa", "cp", "wall_shear_pa", "cf", "normal"]:
    if wanted not in names:
        sys.exit(f"{surface_path}: ParaView finds no cell array {wanted} (it has {names})")
if cells == 0:
    sys.exit(f"{surface_path}: ParaView reads no cells")
cp_range = reader.CellData["cp"].GetRange()

view = pv.CreateView("RenderView")
view.ViewSize = [1200, 600]
view.Background = [1.0, 1.0, 1.0]
try:
    view.UseColorPaletteForBackground = 0
except AttributeError:
    pass
view.OrientationAxesVisibility = 0
display = pv.Show(reader, view)
pv.ColorBy(display, ("CELLS", "cp"))
lut = pv.GetColorTransferFunction("cp")
lut.ApplyPreset("Cool to Warm", True)
lut.RescaleTransferFunction(max(cp_range[0], -1.5), min(cp_range[1], 1.0))
display.SetScalarBarVisibility(view, True)
bar = pv.GetScalarBar(lut, view)
bar.Title = "Cp"
bar.ComponentTitle = ""
bar.TitleColor = [0.0, 0.0, 0.0]
bar.LabelColor = [0.0, 0.0, 0.0]
view.CameraPosition = [-1.2, -1.8, 1.0]
view.CameraFocalPoint = [0.5, 0.0, 0.2]
view.CameraViewUp = [0.0, 0.0, 1.0]
view.ResetCamera()
view.GetActiveCamera().Dolly(1.6)
pv.Render(view)
pv.SaveScreenshot(str(png), view, ImageResolution=[1200, 600])

# The picture shows the body: a good part of it is not background white, and some of it is
# strongly coloured (the stagnation and suction regions).
from vtkmodules.vtkIOImage import vtkPNGReader  # noqa: E402
from vtkmodules.util.numpy_support import vtk_to_numpy  # noqa: E402

image = vtkPNGReader()
image.SetFileName(str(png))
image.Update()
pixels = vtk_to_numpy(image.GetOutput().GetPointData().GetScalars())[:, :3].astype(int)
body = (pixels.min(axis=1) < 235).mean()
coloured = ((pixels.max(axis=1) - pixels.min(axis=1)) > 40).mean()
if body < 0.10 or coloured < 0.01:
    sys.exit(
        f"{png}: the body covers {body:.1%} of the picture, {coloured:.1%} coloured; "
        "it did not render"
    )
print(
    f"ParaView {pv.GetParaViewVersion()}: {surface_path} has {cells} cells, Cp {cp_range[0]:.2f} to "
    f"{cp_range[1]:.2f}; screenshot {png} (body on {body:.0%} of it)"
)
