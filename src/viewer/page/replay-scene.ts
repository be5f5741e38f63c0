import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import type { SceneGeom, SceneReplay } from '../../episodes/scene/scene-replay-format.js';

/** A plane of size 0 is infinite in MuJoCo; draw it this large (m, half-size). */
const INFINITE_PLANE_HALF_M = 5;

/**
 * The three.js side of the replay panel: one group per MuJoCo body holding its geoms (in the
 * body frame, as MuJoCo's geom_pos/geom_quat), moved to each frame's body poses. The scene keeps
 * MuJoCo's z-up world: the camera's up is +z instead of rotating the world, so every position
 * and quaternion goes in unchanged.
 */
export class ReplayScene {
  private readonly renderer: THREE.WebGLRenderer;
  private readonly scene = new THREE.Scene();
  private readonly camera = new THREE.PerspectiveCamera(45, 1, 0.01, 50);
  private readonly controls: OrbitControls;
  private bodies: THREE.Group[] = [];
  private replay: SceneReplay | undefined;
  private readonly disposables: { dispose(): void }[] = [];

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.renderer = new THREE.WebGLRenderer({ canvas, antialias: true });
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
    this.scene.background = new THREE.Color(0xdfe3e8);
    this.camera.up.set(0, 0, 1);
    this.camera.position.set(1.5, -1.3, 1.0);
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x8090a0, 1.6));
    const sun = new THREE.DirectionalLight(0xffffff, 1.8);
    sun.position.set(1, -2, 3);
    this.scene.add(sun);
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.addEventListener('change', () => this.render());
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
  }

  /** Replaces the scene's bodies with those of `replay` and aims the camera at them. */
  load(replay: SceneReplay): void {
    for (const body of this.bodies) this.scene.remove(body);
    for (const d of this.disposables.splice(0)) d.dispose();
    this.replay = replay;
    this.bodies = replay.bodies.map((name) => {
      const group = new THREE.Group();
      group.name = name;
      this.scene.add(group);
      return group;
    });
    for (const geom of replay.geoms) {
      const mesh = this.geomMesh(geom);
      if (mesh) this.bodies[geom.body]?.add(mesh);
    }
    this.aim(replay);
    this.showFrame(0);
  }

  /** Moves every body to its pose in frame `index` and draws. */
  showFrame(index: number): void {
    const frame = this.replay?.frames[index];
    if (!frame) return;
    this.bodies.forEach((body, b) => {
      const [x, y, z] = [frame.bodyPos[3 * b], frame.bodyPos[3 * b + 1], frame.bodyPos[3 * b + 2]];
      if (x !== undefined && y !== undefined && z !== undefined) body.position.set(x, y, z);
      const [w, qx, qy, qz] = [
        frame.bodyQuat[4 * b],
        frame.bodyQuat[4 * b + 1],
        frame.bodyQuat[4 * b + 2],
        frame.bodyQuat[4 * b + 3],
      ];
      // MuJoCo quaternions are (w, x, y, z); three.js takes (x, y, z, w).
      if (w !== undefined && qx !== undefined && qy !== undefined && qz !== undefined)
        body.quaternion.set(qx, qy, qz, w);
    });
    this.render();
  }

  render(): void {
    this.renderer.render(this.scene, this.camera);
  }

  private resize(): void {
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    if (width === 0 || height === 0) return;
    this.renderer.setSize(width, height, false);
    this.camera.aspect = width / height;
    this.camera.updateProjectionMatrix();
    this.render();
  }

  /** Looks at the middle of the non-world bodies of frame 0, from far enough to see them all. */
  private aim(replay: SceneReplay): void {
    const frame = replay.frames[0]!;
    const box = new THREE.Box3();
    for (let b = 1; b < replay.bodies.length; b++) {
      box.expandByPoint(
        new THREE.Vector3(frame.bodyPos[3 * b], frame.bodyPos[3 * b + 1], frame.bodyPos[3 * b + 2]),
      );
    }
    if (box.isEmpty()) box.expandByPoint(new THREE.Vector3());
    const center = box.getCenter(new THREE.Vector3());
    const radius = Math.max(0.4, box.getSize(new THREE.Vector3()).length() / 2);
    this.controls.target.copy(center);
    this.camera.position.copy(center).add(new THREE.Vector3(1.1, -1.5, 0.9).multiplyScalar(radius * 1.6));
    this.camera.lookAt(center);
    this.controls.update();
  }

  /**
   * A mesh for a MuJoCo geom. geom_size holds half-sizes and radii: sphere [r], capsule and
   * cylinder [r, half-length] along the geom's z, ellipsoid and box [half x, half y, half z],
   * plane [half x, half y, grid spacing] with its normal along z.
   */
  private geomMesh(geom: SceneGeom): THREE.Mesh | undefined {
    const [r, g, b, a] = geom.rgba;
    if (a <= 0) return undefined;
    const [s0, s1, s2] = geom.size;
    let geometry: THREE.BufferGeometry;
    switch (geom.type) {
      case 'plane':
        geometry = new THREE.PlaneGeometry(
          2 * (s0 > 0 ? s0 : INFINITE_PLANE_HALF_M),
          2 * (s1 > 0 ? s1 : INFINITE_PLANE_HALF_M),
        );
        break;
      case 'sphere':
        geometry = new THREE.SphereGeometry(s0, 24, 16);
        break;
      case 'ellipsoid':
        geometry = new THREE.SphereGeometry(1, 24, 16).scale(s0, s1, s2);
        break;
      case 'capsule':
        // three.js builds capsules and cylinders along y; MuJoCo's run along z.
        geometry = new THREE.CapsuleGeometry(s0, 2 * s1, 6, 16).rotateX(Math.PI / 2);
        break;
      case 'cylinder':
        geometry = new THREE.CylinderGeometry(s0, s0, 2 * s1, 24).rotateX(Math.PI / 2);
        break;
      case 'box':
        geometry = new THREE.BoxGeometry(2 * s0, 2 * s1, 2 * s2);
        break;
    }
    const material = new THREE.MeshStandardMaterial({
      // MuJoCo colours are display (sRGB) values; three.js works in linear space.
      color: new THREE.Color().setRGB(r, g, b, THREE.SRGBColorSpace),
      roughness: 0.7,
      metalness: 0.05,
      transparent: a < 1,
      opacity: a,
      side: geom.type === 'plane' ? THREE.DoubleSide : THREE.FrontSide,
    });
    this.disposables.push(geometry, material);
    const mesh = new THREE.Mesh(geometry, material);
    mesh.position.set(...geom.pos);
    const [w, x, y, z] = geom.quat;
    mesh.quaternion.set(x, y, z, w);
    if (geom.name !== undefined) mesh.name = geom.name;
    return mesh;
  }
}
