; Inno Setup script for Nango Desktop (Windows installer).
; Build on Windows after PyInstaller:  iscc /DAppVersion=0.1.0 packaging\windows\nango-desktop.iss
; Input: dist\nango-desktop\ (PyInstaller onedir). Output: packaging\windows\out\NangoDesktop-<version>-setup.exe

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "Nango Desktop"
#define AppExe "nango-desktop.exe"

[Setup]
AppId={{6C1F3A52-7B0E-4C55-9E0B-8D1A1F2B6E41}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Nango Desktop developers
AppPublisherURL=https://nango.dev
DefaultDirName={autopf}\Nango Desktop
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
OutputDir=out
OutputBaseFilename=NangoDesktop-{#AppVersion}-setup
SetupIconFile=..\..\resources\app\nango-desktop.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\nango-desktop\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
