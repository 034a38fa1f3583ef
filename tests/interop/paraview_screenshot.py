"""ParaView opens what `slipstream predict` wrote and renders it: surface.vtp coloured by Cp, a
screenshot saved, and the picture checked to show a coloured body (not an empty view). The Cp
range ParaView colours by is the predicted one (pressure_pa / q with summary.json's reference),
and the picture holds both ends of the colour map (the lowest and the highest predicted Cp).

Run with ParaView's own Python (Debian package `paraview`):
    pvbatch tests/interop/paraview_screenshot.py PREDICTION_DIR OUT.png
(`pvpython` works the same where it is installed.)
"""
import json
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
ref = json.loads((prediction / "summary.json").read_text())["reference"]
q = 0.5 * ref["density_kg_m3"] * ref["speed_m_s"] ** 2
p_range = reader.CellData["pressure_pa"].GetRange()
for got, want in zip(cp_range, (p_range[0] / q, p_range[1] / q)):
    if abs(got - want) > 1e-3 * max(1.0, abs(want)):
        sys.exit(f"{surface_path}: ParaView's Cp range {cp_range} is not the predicted pressure over q ({want})")

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
shown = (max(cp_range[0], -1.5), min(cp_range[1], 1.0))
lut.RescaleTransferFunction(*shown)
points = list(lut.RGBPoints)
if abs(points[0] - shown[0]) > 1e-6 or abs(points[-4] - shown[1]) > 1e-6:
    sys.exit(f"the colour map spans {points[0]}..{points[-4]}, not the predicted Cp {shown}")
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
# "Cool to Warm" over the predicted range: the lowest Cp blue, the highest red; a picture of one
# colour did not map the range.
warm = ((pixels[:, 0] - pixels[:, 2]) > 60).mean()
cool = ((pixels[:, 2] - pixels[:, 0]) > 60).mean()
if warm < 0.001 or cool < 0.001:
    sys.exit(f"{png}: {warm:.2%} warm and {cool:.2%} cool pixels; the Cp colours did not render")
print(
    f"ParaView {pv.GetParaViewVersion()}: {surface_path} has {cells} cells, Cp {cp_range[0]:.2f} to "
    f"{cp_range[1]:.2f}; screenshot {png} (body on {body:.0%} of it, {warm:.1%} warm, {cool:.1%} cool)"
)
